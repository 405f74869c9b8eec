import { GraphQLScalarType } from 'graphql';
import { GraphQLDateTimeISO, GraphQLJSONObject, GraphQLLocalDate, GraphQLSafeInt } from 'graphql-scalars';

/**
 * Every custom scalar names its specification with `@specifiedBy` (GraphQL spec §3.5.5), so codegen
 * tools and clients know what the strings mean. graphql-scalars sets `specifiedByURL` on some scalars
 * (JSONObject, SafeInt) but not on DateTimeISO or LocalDate, and type-graphql takes scalars as they are,
 * so we re-create those two from their own config with the URL added (graphql 16 keeps `specifiedByURL`
 * on the type; printSchemaWithDirectives and introspection both show it).
 */
function withSpec(scalar: GraphQLScalarType, specifiedByURL: string, description?: string): GraphQLScalarType {
  return new GraphQLScalarType({
    ...scalar.toConfig(),
    specifiedByURL,
    description: description ?? scalar.description,
  });
}

export const DateTimeISO = withSpec(
  GraphQLDateTimeISO,
  'https://scalars.graphql.org/chillicream/date-time.html',
  'A date and time with an offset, as an RFC 3339 string (for example 2026-11-27T13:45:00.000Z). The gateway always answers in UTC with milliseconds.',
);

export const LocalDate = withSpec(
  GraphQLLocalDate,
  'https://scalars.graphql.org/chillicream/local-date.html',
  'A calendar date without a time or time zone, as an ISO 8601 string YYYY-MM-DD (for example 2026-11-27).',
);

/** Already carry `specifiedByURL` (ECMA-404 and ECMA-262); re-exported so every scalar comes from here. */
export const JSONObject = GraphQLJSONObject;
export const SafeInt = GraphQLSafeInt;

export const CUSTOM_SCALARS = [DateTimeISO, LocalDate, JSONObject, SafeInt];
