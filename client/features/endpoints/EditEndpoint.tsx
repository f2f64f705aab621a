import { useState, type ReactNode } from 'react';
import { useMutation } from 'urql';
import { errorCode, errorMessage, fieldProblems } from '../../shared/errors';
import { Link, navigate } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { ErrorMessage, Loading, Notice, PageHeader, PlanNotice } from '../../shared/ui';
import { EndpointForm } from './EndpointForm';
import { buildEndpointInput, formStateFromEndpoint, type EndpointFormState, type Problems } from './formModel';
import { placeProblems } from './formProblems';
import { UPDATE_ENDPOINT, type EndpointDetail } from './queries';
import { useEndpoint } from './useEndpoint';

/** The edit page: the same form, prefilled; only admins on the enterprise plan reach it. */
export function EditEndpoint({ id }: { id: string }) {
  const can = usePermissions();
  const { endpoint, error, refetch } = useEndpoint(id);
  const back = <Link to={`/endpoints/${id}`}>← Endpoint</Link>;
  if (!can.manageSettings) {
    return (
      <>
        <PageHeader title="Edit endpoint" back={back} />
        <PlanNotice what="settings" />
        {!can.roleCanManage && <Notice>Only admin keys can change endpoint settings.</Notice>}
      </>
    );
  }
  if (!endpoint) {
    return (
      <>
        <PageHeader title="Edit endpoint" back={back} />
        {error ? <ErrorMessage error={error} onRetry={refetch} /> : <Loading />}
      </>
    );
  }
  return <EditForm endpoint={endpoint} back={back} />;
}

function EditForm({ endpoint, back }: { endpoint: EndpointDetail; back: ReactNode }) {
  const [state, setState] = useState<EndpointFormState>(() => formStateFromEndpoint(endpoint));
  const [problems, setProblems] = useState<Problems>({});
  const [unplaced, setUnplaced] = useState<string[]>([]);
  const [result, save] = useMutation<{ updateEndpoint: EndpointDetail }>(UPDATE_ENDPOINT);

  const submit = async (): Promise<void> => {
    const built = buildEndpointInput(state, 'edit');
    const local = placeProblems(built.problems);
    setProblems(local.placed);
    setUnplaced(local.unplaced);
    if (Object.keys(built.problems).length) return;
    const outcome = await save({ id: endpoint.id, input: built.input });
    if (outcome.error) {
      const placed = placeProblems(fieldProblems(outcome.error));
      setProblems(placed.placed);
      const generic = errorCode(outcome.error) !== 'BAD_USER_INPUT' || (Object.keys(placed.placed).length === 0 && placed.unplaced.length === 0);
      setUnplaced(generic ? [errorMessage(outcome.error)] : placed.unplaced);
      return;
    }
    navigate(`/endpoints/${endpoint.id}`);
  };

  return (
    <>
      <PageHeader title="Edit endpoint" description={endpoint.url} back={back} />
      {result.error && !result.error.graphQLErrors.length && <ErrorMessage error={result.error} />}
      <EndpointForm
        mode="edit"
        state={state}
        update={(change) => setState((s) => change(s))}
        problems={problems}
        unplaced={unplaced}
        busy={result.fetching}
        onSubmit={submit}
        onCancel={() => navigate(`/endpoints/${endpoint.id}`)}
        existingTls={endpoint.tls}
      />
    </>
  );
}
