import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';
import { ErrorCode } from './errors';

/**
 * GitHub's node limit, for our connections: a query may ask for at most `maxNodes` nodes in total,
 * counted as the product of the `first` (or `last`) arguments down each path of connections. (graphql-armor's cost
 * limit weighs depth, not list sizes, so it cannot tell 2 items from 100×100×100.) A `first`/`last` given by a
 * variable counts as the maximum page size: validation runs before variables are known.
 */
export function nodeLimitRule(maxNodes: number): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }

    const count = (selectionSet: SelectionSetNode | undefined, multiplier: number): number => {
      if (!selectionSet) return 0;
      let total = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          // `first` or `last` (backward pages are as large); both given is refused later, count the larger.
          const sizes = (selection.arguments ?? []).filter((a) => a.name.value === 'first' || a.name.value === 'last');
          const isConnection =
            sizes.length > 0 ||
            selection.selectionSet?.selections.some((s) => s.kind === Kind.FIELD && s.name.value === 'edges');
          if (isConnection) {
            const size = sizes.length
              ? Math.max(
                  ...sizes.map((a) =>
                    a.value.kind === Kind.INT
                      ? Number(a.value.value)
                      : a.value.kind === Kind.NULL
                        ? DEFAULT_PAGE_SIZE
                        : MAX_PAGE_SIZE,
                  ),
                )
              : DEFAULT_PAGE_SIZE;
            const nodes = multiplier * Math.max(size, 0);
            total += nodes + count(selection.selectionSet, nodes);
          } else {
            total += count(selection.selectionSet, multiplier);
          }
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          total += count(selection.selectionSet, multiplier);
        } else {
          total += multiplier * fragmentNodes(selection.name.value);
        }
      }
      return total;
    };
    // count() is linear in its multiplier (every term is multiplier × something), so a fragment is counted
    // once, at multiplier 1, and each spread multiplies that. Walking a fragment at every spread was
    // exponential: 40 fragments that each spread the next twice (2^40 walks, a 2 KB query, no token needed)
    // held the event loop, and so the whole gateway, for minutes.
    const memo = new Map<string, number>();
    const inProgress = new Set<string>();
    const fragmentNodes = (name: string): number => {
      const known = memo.get(name);
      if (known !== undefined) return known;
      if (inProgress.has(name)) return 0; // fragment cycles are reported by graphql's own rules
      inProgress.add(name);
      const nodes = count(fragments.get(name)?.selectionSet, 1);
      inProgress.delete(name);
      memo.set(name, nodes);
      return nodes;
    };

    return {
      OperationDefinition(operation) {
        const nodes = count(operation.selectionSet, 1);
        if (nodes > maxNodes) {
          context.reportError(
            new GraphQLError(
              `This query could return up to ${nodes} nodes; the limit is ${maxNodes}. Ask for smaller pages.`,
              {
                nodes: [operation],
                extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, limit: 'nodes', maximum: maxNodes },
              },
            ),
          );
        }
      },
    };
  };
}
