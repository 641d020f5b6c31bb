// Reading and decoding request bodies: JSON or YAML objects, patches by their media type, a size limit.
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, unsupportedMediaType } from './errors.ts';

/** A real server's default limit for a request body (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = maxBodyBytes): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

/** The media type without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Decodes an object body (create, update) by its Content-Type. */
export function decodeObject(text: string, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') {
    try {
      return parseYaml(text);
    } catch (e) {
      throw badRequest(`couldn't get version/kind; yaml parse error: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (type !== '' && type !== 'application/json' && type !== '*/*') {
    throw unsupportedMediaType(type, ['application/json', 'application/yaml']);
  }
  return decodeJson(text, "couldn't get version/kind; json parse error");
}

export function decodeJson(text: string, prefix: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`${prefix}: ${(e as Error).message}`);
  }
}
