import type { EndpointFormState, Problems } from './formModel';
import { FilterField } from './FilterField';
import { TransformationEditor } from './TransformationEditor';

/** The endpoint form's "which events, in what shape" part: content filter and transformation. */
export function ContentSection({
  state,
  update,
  problems,
}: {
  state: EndpointFormState;
  update: (change: (state: EndpointFormState) => EndpointFormState) => void;
  problems: Problems;
}) {
  return (
    <fieldset className="form-section">
      <legend>Filter and transformation</legend>
      <FilterField value={state.filter} onChange={(filter) => update((s) => ({ ...s, filter }))} error={problems.filter} />
      <TransformationEditor
        value={state.transformation}
        onChange={(transformation) => update((s) => ({ ...s, transformation }))}
        error={problems.transformation}
        customHeaders={state.headers}
      />
    </fieldset>
  );
}
