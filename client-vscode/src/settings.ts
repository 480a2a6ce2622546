// Settings → what the server receives: the nested `ladder` object of settings.schema.json
// (`{local: {baseUrl: …}, …}`) as initializationOptions, and the same section when it pulls
// `workspace/configuration`.
import type { ConfigurationRequest } from 'vscode-languageclient/node';
import schema from '../settings.schema.json';
import { isObject, type JsonObject } from './json';

/** Kept out of initializationOptions, which trace logs show. The server reads the local key
 * from `workspace/configuration`; the Claude key arrives as ANTHROPIC_API_KEY. */
const SECRET_KEYS: readonly string[] = ['ladder.claude.apiKey', 'ladder.local.apiKey'];

/** `ladder.*` sections that configure the extension itself, not the server. */
export const EXTENSION_SECTIONS: readonly string[] = ['server', 'trace'];

interface ConfigurationReader {
  get(key: string): unknown;
}

export function initializationOptions(config: ConfigurationReader): JsonObject {
  const options: JsonObject = {};
  for (const key of Object.keys(schema)) {
    const path = key.split('.').slice(1); // without `ladder`
    const value = config.get(path.join('.'));
    if (!SECRET_KEYS.includes(key) && value !== undefined) {
      setPath(options, path, value);
    }
  }
  return options;
}

function setPath(target: JsonObject, [head, ...rest]: string[], value: unknown): void {
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const existing = target[head];
  const child: JsonObject = isObject(existing) ? existing : {};
  target[head] = child;
  setPath(child, rest, value);
}

/** Answers the server's `workspace/configuration` pulls of `ladder` without the extension's own sections. */
export const configurationMiddleware: ConfigurationRequest.MiddlewareSignature = async (
  params,
  token,
  next,
) => {
  const result = await next(params, token);
  if (!Array.isArray(result)) return result;
  return result.map((value: unknown, i) =>
    params.items[i]?.section === 'ladder' && isObject(value)
      ? Object.fromEntries(
          Object.entries(value).filter(([key]) => !EXTENSION_SECTIONS.includes(key)),
        )
      : value,
  );
};
