import { useState } from 'react';
import { useMutation } from 'urql';
import { fieldProblems, errorCode, errorMessage } from '../../shared/errors';
import { Link, navigate } from '../../shared/router';
import { usePermissions, useSession } from '../../shared/session';
import { ErrorMessage, Notice, PageHeader, PlanNotice, SecretBox } from '../../shared/ui';
import { EndpointForm } from './EndpointForm';
import { buildEndpointInput, defaultFormState, type EndpointFormState, type Problems } from './formModel';
import { placeProblems } from './formProblems';
import { CREATE_ENDPOINT, type EndpointDetail } from './queries';

/** The "new endpoint" page; after creation the HMAC secret is shown once. */
export function CreateEndpoint() {
  const can = usePermissions();
  const { viewer } = useSession();
  // A label-scoped portal session creates endpoints carrying its labels.
  const [state, setState] = useState<EndpointFormState>(() => ({ ...defaultFormState(), labels: (viewer.portal?.labels ?? []).join(', ') }));
  const [problems, setProblems] = useState<Problems>({});
  const [unplaced, setUnplaced] = useState<string[]>([]);
  const [created, setCreated] = useState<{ endpoint: EndpointDetail; secret: string } | null>(null);
  const [result, create] = useMutation<{ createEndpoint: { secret: string | null; endpoint: EndpointDetail } }>(CREATE_ENDPOINT);

  if (!can.manageSettings) {
    return (
      <>
        <PageHeader title="New endpoint" back={<Link to="/endpoints">← Endpoints</Link>} />
        <PlanNotice what="settings" />
        {can.roleCanManage ? null : <Notice>Only admin keys can create endpoints.</Notice>}
      </>
    );
  }

  if (created) {
    return (
      <>
        <PageHeader title="Endpoint created" description={created.endpoint.url} />
        <SecretBox label="Signing secret" secret={created.secret} onDismiss={() => navigate(`/endpoints/${created.endpoint.id}`)}>
          <p className="muted">Receivers verify the webhook-signature header with this secret (Standard Webhooks, HMAC-SHA256).</p>
        </SecretBox>
      </>
    );
  }

  const submit = async (): Promise<void> => {
    const built = buildEndpointInput(state, 'create');
    const local = placeProblems(built.problems);
    setProblems(local.placed);
    setUnplaced(local.unplaced);
    if (Object.keys(built.problems).length) return;
    const outcome = await create({ input: built.input });
    if (outcome.error) {
      const placed = placeProblems(fieldProblems(outcome.error));
      setProblems(placed.placed);
      const generic = errorCode(outcome.error) !== 'BAD_USER_INPUT' || (Object.keys(placed.placed).length === 0 && placed.unplaced.length === 0);
      setUnplaced(generic ? [errorMessage(outcome.error)] : placed.unplaced);
      return;
    }
    const payload = outcome.data?.createEndpoint;
    if (!payload) return;
    if (payload.secret) setCreated({ endpoint: payload.endpoint, secret: payload.secret });
    else navigate(`/endpoints/${payload.endpoint.id}`);
  };

  return (
    <>
      <PageHeader title="New endpoint" description="Where to send events, which ones, and how to behave when the receiver struggles." back={<Link to="/endpoints">← Endpoints</Link>} />
      {result.error && !result.error.graphQLErrors.length && <ErrorMessage error={result.error} />}
      <EndpointForm
        mode="create"
        state={state}
        update={(change) => setState((s) => change(s))}
        problems={problems}
        unplaced={unplaced}
        busy={result.fetching}
        onSubmit={submit}
        onCancel={() => navigate('/endpoints')}
      />
    </>
  );
}
