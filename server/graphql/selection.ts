import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * The field paths an operation selects below the field being resolved, `depth` levels deep,
 * with fragments expanded: `{ id delivery { status } }` gives `id`, `delivery`, `delivery.status`.
 * @skip/@include are not evaluated, so the set may hold more than will run, never less.
 */
export function selectedPaths(info: GraphQLResolveInfo, depth = 2): Set<string> {
  const paths = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, prefix: string, level: number) => {
    if (!set) return;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const path = prefix + selection.name.value;
        paths.add(path);
        if (level < depth) walk(selection.selectionSet, `${path}.`, level + 1);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, prefix, level);
      } else {
        walk(info.fragments[selection.name.value]?.selectionSet, prefix, level);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet, '', 1);
  return paths;
}
