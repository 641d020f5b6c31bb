// Splits an OVSDB byte stream into JSON-RPC messages. OVSDB sends JSON objects back to back with no
// delimiter or length prefix, so we track brace depth and string/escape state byte by byte. The scanner
// keeps its position between chunks (each byte is looked at once: linear in the input) and decodes UTF-8
// only on whole messages, so a multi-byte character split across two chunks is never corrupted.
import { constants } from 'node:buffer';
import { ProtocolError } from './errors.ts';

/** The longest message that can be decoded at all: V8 makes no longer string (about 512 MiB). */
export const MAX_DECODABLE_BYTES = constants.MAX_STRING_LENGTH;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export class JsonFramer {
  /** Pieces of the message under construction (only the part from its first byte on). */
  private parts: Buffer[] = [];
  private partsLength = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Longer messages are refused with a ProtocolError. */
  readonly maxMessageBytes: number;

  constructor(maxMessageBytes = MAX_DECODABLE_BYTES) {
    this.maxMessageBytes = Math.min(maxMessageBytes, MAX_DECODABLE_BYTES);
  }

  /** Feeds a chunk; returns the complete messages it finished, as UTF-8 text. Throws ProtocolError. */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = this.depth > 0 ? 0 : -1; // where the current message begins within this chunk
    let { depth, inString, escaped } = this;
    const n = chunk.length;
    // Inside strings (most of the bytes) we jump with native indexOf to the next quote or backslash; the
    // positions found are kept until passed, so no byte is searched twice.
    let nextQuote = -1;
    let nextBackslash = -1;
    let i = 0;
    while (i < n) {
      if (inString) {
        if (escaped) {
          escaped = false;
          i++;
          continue;
        }
        if (nextQuote < i) nextQuote = chunk.indexOf(QUOTE, i);
        if (nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
        if (nextQuote < 0) nextQuote = n;
        if (nextBackslash < 0) nextBackslash = n;
        if (nextBackslash < nextQuote) {
          escaped = true; // the byte after the backslash, possibly in the next chunk, is taken as is
          i = nextBackslash + 1;
        } else {
          if (nextQuote < n) inString = false;
          i = nextQuote + 1;
        }
        continue;
      }
      const b = chunk[i]!;
      if (depth === 0) {
        if (!isWhitespace(b)) {
          if (b !== OPEN_BRACE) {
            this.reset();
            throw new ProtocolError(
              `malformed frame: expected '{' at the start of a message, got byte 0x${b.toString(16)}`,
            );
          }
          start = i;
          depth = 1;
        }
      } else if (b === QUOTE) inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) {
          out.push(this.finish(chunk.subarray(start, i + 1)));
          start = -1;
        }
      }
      i++;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    if (depth > 0 && start >= 0) {
      const rest = chunk.subarray(start);
      this.parts.push(rest);
      this.partsLength += rest.length;
      if (this.partsLength > this.maxMessageBytes) {
        this.reset();
        throw new ProtocolError(`message larger than ${this.maxMessageBytes} bytes`);
      }
    }
    return out;
  }

  /** Bytes held for an incomplete message. */
  get pending(): number {
    return this.partsLength;
  }

  private finish(tail: Buffer): string {
    const length = this.partsLength + tail.length;
    if (length > this.maxMessageBytes) {
      // ended within this chunk, so not caught by the check on what is held between chunks
      this.reset();
      throw new ProtocolError(`message larger than ${this.maxMessageBytes} bytes`);
    }
    if (this.parts.length === 0) return tail.toString('utf8');
    this.parts.push(tail);
    const whole = Buffer.concat(this.parts, length);
    this.parts = [];
    this.partsLength = 0;
    return whole.toString('utf8');
  }

  reset(): void {
    this.parts = [];
    this.partsLength = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}
