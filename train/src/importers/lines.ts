/**
 * Splits a text file into lines the way every line-based importer needs it: `\n` or `\r\n` endings, a last
 * line without a newline still counted, and lines that are not valid UTF-8 read as Latin-1 (and flagged).
 *
 * @module
 */

/** One line of an input, with its 1-based number. */
export interface Line {
  n: number;
  text: string;
  /** The line's bytes were not valid UTF-8 and were read as Latin-1. */
  latin1: boolean;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * The lines of a file's bytes (or of a string).
 *
 * @returns The lines and whether the input ended without a newline.
 */
export function splitLines(
  input: Uint8Array | string,
): { lines: Line[]; unterminated: boolean } {
  const lines: Line[] = [];
  if (typeof input === "string") {
    const parts = input.split("\n");
    const unterminated = parts.length > 0 && parts[parts.length - 1] !== "";
    if (!unterminated) parts.pop();
    parts.forEach((p, i) => lines.push({ n: i + 1, text: stripCr(p), latin1: false }));
    return { lines, unterminated };
  }
  let start = 0;
  let n = 0;
  for (let i = 0; i <= input.length; i++) {
    if (i < input.length && input[i] !== 10) continue;
    if (i === input.length && start === i) break;
    lines.push(decodeLine(input.subarray(start, i), ++n));
    start = i + 1;
  }
  const unterminated = input.length > 0 && input[input.length - 1] !== 10;
  return { lines, unterminated };
}

function decodeLine(bytes: Uint8Array, n: number): Line {
  try {
    return { n, text: stripCr(strict.decode(bytes)), latin1: false };
  } catch {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return { n, text: stripCr(s), latin1: true };
  }
}

function stripCr(s: string): string {
  return s.endsWith("\r") ? s.slice(0, -1) : s;
}
