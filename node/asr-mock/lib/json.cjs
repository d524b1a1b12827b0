'use strict';
// JSON.parse that keeps integers beyond 2^53 exact: icu TaskIds are uint64 (the
// `huge-task-ids` scenario makes them larger than a double holds), so such integers come back
// as decimal strings instead of being rounded. Every other value parses as JSON.parse does.

// Quotes every integer literal outside strings whose magnitude exceeds
// Number.MAX_SAFE_INTEGER; leaves the text as it is otherwise.
function quoteUnsafeIntegers(text) {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, escapes included.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) { i++; break; }
        else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n && /[0-9.eE+-]/.test(text[i])) i++;
      const literal = text.slice(start, i);
      // 16 digits is the shortest that can exceed 2^53 - 1 (9007199254740991).
      if (/^-?\d{16,}$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(last, start) + '"' + literal + '"';
        last = i;
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

function parseJson(text) {
  return JSON.parse(quoteUnsafeIntegers(text));
}

module.exports = { parseJson, quoteUnsafeIntegers };
