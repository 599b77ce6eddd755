import { z } from 'zod';
import { API_VERSION, errorBodySchema } from '../../src/contract';
import { ROUTE_CONTRACTS } from './route-contracts';
import { paramSchemas, type ParamName } from './schemas';

/*
 * The API as an OpenAPI 3.1 document, generated from the zod schemas the companion and the
 * extension use (route-contracts.ts). `npm run api:doc` writes it to docs/openapi.json; a unit
 * test fails when the committed file differs from what the code would write.
 */

type Json = Record<string, unknown>;

function schemaOf(schema: z.core.$ZodType, io: 'input' | 'output'): Json {
  // Refinements (Slurm's grammar) are not JSON Schema; their messages are in the 400 replies.
  const { $schema, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  void $schema; // OpenAPI 3.1 documents are JSON Schema 2020-12 throughout
  return rest;
}

/** `/api/sessions/:id` → `/hpclab/api/sessions/{id}`, and the params it names. */
function openApiPath(path: string): { path: string; params: ParamName[] } {
  const params: ParamName[] = [];
  const out = path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    if (!(name in paramSchemas)) throw new Error(`route ${path}: no schema for param ${name}`);
    params.push(name as ParamName);
    return `{${name}}`;
  });
  return { path: `/hpclab${out}`, params };
}

export function openApiDocument(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTE_CONTRACTS) {
    const { path, params } = openApiPath(route.path);
    const parameters = [
      ...params.map(name => ({ name, in: 'path', required: true, schema: schemaOf(paramSchemas[name], 'input') })),
      ...Object.entries(route.query ?? {}).map(([name, s]) => ({
        name,
        in: 'query',
        required: false,
        schema: schemaOf(s, 'input')
      })),
      ...Object.entries(route.headers ?? {}).map(([name, s]) => ({
        name,
        in: 'header',
        required: false,
        schema: schemaOf(s, 'input')
      }))
    ];
    const success =
      route.reply === null
        ? { description: 'Done; no body' }
        : {
            description: route.summary,
            content: { [route.contentType ?? 'application/json']: { schema: schemaOf(route.reply, 'output') } }
          };
    const operation: Json = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } }
          }
        : {}),
      responses: { [String(route.status)]: success, default: { $ref: '#/components/responses/Error' } }
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hpclab companion API',
      version: `${API_VERSION}`,
      description:
        "The hpclab companion's API. Every route needs the token: an `Authorization: token …` header or the companion's cookie. Bad input is a 400 naming each field and what was expected. `info.version` is the API version `GET /hpclab/api/version` reports."
    },
    servers: [{ url: 'http://127.0.0.1:{port}', variables: { port: { default: '8765' } } }],
    security: [{ token: [] }],
    paths,
    components: {
      securitySchemes: {
        token: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`token <the companion token>`' }
      },
      responses: {
        Error: {
          description: 'A 4xx or 5xx: what went wrong, and for bad input each field',
          content: { 'application/json': { schema: schemaOf(errorBodySchema, 'output') } }
        }
      }
    }
  };
}

/** The document as written to docs/openapi.json (stable key order, trailing newline). */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
