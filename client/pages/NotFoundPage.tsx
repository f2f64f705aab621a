import { Link } from '../shared/router';
import { EmptyState, PageHeader } from '../shared/ui';

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState title="There is nothing at this address" action={<Link to="/endpoints">Go to endpoints</Link>} />
    </>
  );
}
