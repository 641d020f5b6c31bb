// The plugin's minimal HTTP response parser: content-length, read-to-close and chunked bodies.
import { expect, test } from 'vitest';
import { HttpError, parseHttpResponse } from '../../../src/cni/unix-http.ts';

const parse = (s: string) => parseHttpResponse(Buffer.from(s, 'utf8'));

function errorCode(s: string): string | undefined {
  try {
    parse(s);
    return undefined;
  } catch (e) {
    return e instanceof HttpError ? e.code : 'other';
  }
}

test('a body delimited by content-length', () => {
  expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\n\r\n{}')).toEqual({
    status: 200,
    body: '{}',
  });
  expect(parse('HTTP/1.0 500 Internal\r\ncontent-length: 3\r\n\r\nabcdef').body).toBe('abc');
});

test('a body read until the connection closed, multi-byte characters included', () => {
  expect(parse('HTTP/1.0 201 Created\r\nContent-Type: application/json\r\n\r\n{"a":"é"}')).toEqual({
    status: 201,
    body: '{"a":"é"}',
  });
  expect(parse('HTTP/1.1 204\r\n\r\n')).toEqual({ status: 204, body: '' });
});

test('a chunked body', () => {
  const raw =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\na;ext=1\r\n:"bcdefgh"\r\n1\r\n}\r\n0\r\n\r\n';
  expect(parse(raw)).toEqual({ status: 200, body: '{"a":"bcdefgh"}' });
});

test('nothing at all is EMPTYRESPONSE; anything not HTTP or cut short is EBADRESPONSE', () => {
  expect(errorCode('')).toBe('EMPTYRESPONSE');
  for (const raw of [
    'garbage',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n',
    'HTTP/2 200\r\n\r\n',
    'HTTP/1.1 2000 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nno colon\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}',
    'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  ]) {
    expect(errorCode(raw), raw).toBe('EBADRESPONSE');
  }
});
