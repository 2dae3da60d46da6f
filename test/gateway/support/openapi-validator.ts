import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * Validates response bodies against the OpenAPI document the gateway serves, with a real JSON
 * Schema 2020-12 validator (OpenAPI 3.1's dialect), by pointing into the document itself.
 */
export function openApiResponseValidator(document: object) {
  // The document is not itself a schema; strict mode would reject its OpenAPI keywords.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi.json');

  return function validate(method: string, pathTemplate: string, status: number, body: unknown): string[] {
    const path = encodeURIComponent(pathTemplate.replace(/~/g, '~0').replace(/\//g, '~1'));
    const pointer = `openapi.json#/paths/${path}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
    const check = ajv.getSchema(pointer);
    if (!check) return [`the document has no schema for ${method} ${pathTemplate} ${status}`];
    if (check(body)) return [];
    return (check.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`);
  };
}
