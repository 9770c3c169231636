// Mapping templates: "orders.{rk.1}.{header.tenant}" compiled once into a list of parts,
// rendered per message without parsing. Token names:
//   {NAME}         a token the connector provides (routingKey, topic, partition, key, ...)
//   {rk.N}         0-based word N of the routing key
//   {header.NAME}  the first value of source header NAME (as carried to NATS, case-insensitive)
import { bindingKeyToSubject, escapeDotted, escapeToken } from './subject.js';
import type { HeaderEntry, MessageTokens } from './connector.js';

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'token'; name: string }
  | { kind: 'rk'; index: number }
  | { kind: 'header'; name: string };

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Thrown at render time when a message lacks a token the template needs. */
export class MissingTokenError extends Error {
  override name = 'MissingTokenError';
  constructor(readonly token: string) {
    super(`message has no value for {${token}}`);
  }
}

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** Token names used, as written ("routingKey", "rk.2", "header.x"). */
  readonly tokens: readonly string[];
}

export function compileTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    const close = text.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open)) throw new TemplateError(`unmatched "}" at ${close} in "${text}"`);
    if (open === -1) {
      parts.push({ kind: 'text', text: text.slice(i) });
      break;
    }
    if (open > i) parts.push({ kind: 'text', text: text.slice(i, open) });
    const end = text.indexOf('}', open);
    if (end === -1) throw new TemplateError(`unclosed "{" at ${open} in "${text}"`);
    const name = text.slice(open + 1, end).trim();
    if (name === '') throw new TemplateError(`empty token "{}" in "${text}"`);
    tokens.push(name);
    const rk = /^rk\.(\d+)$/.exec(name);
    if (rk) parts.push({ kind: 'rk', index: Number(rk[1]) });
    else if (name.startsWith('header.')) {
      const h = name.slice('header.'.length);
      if (h === '') throw new TemplateError(`"{header.}" needs a header name in "${text}"`);
      parts.push({ kind: 'header', name: h.toLowerCase() });
    } else if (/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) parts.push({ kind: 'token', name });
    else throw new TemplateError(`bad token "{${name}}" in "${text}"`);
    i = end + 1;
  }
  return { source: text, parts, tokens };
}

function headerValue(headers: readonly HeaderEntry[], lowerName: string): string | undefined {
  for (const [n, v] of headers) if (n.toLowerCase() === lowerName) return v;
  return undefined;
}

/**
 * Render for a subject (escape=true: every value becomes legal subject text; routingKey keeps
 * its dots, other values are one token) or as plain text (dedup keys, header values).
 * `headerLookup` maps a lower-cased header name to its value (source headers).
 */
export function renderTemplate(
  t: Template,
  tokens: MessageTokens,
  headers: readonly HeaderEntry[],
  escape: boolean,
): string {
  let out = '';
  for (const p of t.parts) {
    switch (p.kind) {
      case 'text':
        out += p.text;
        break;
      case 'token': {
        const v = tokens[p.name];
        if (v === undefined) throw new MissingTokenError(p.name);
        out += escape ? (p.name === 'routingKey' ? escapeDotted(v) : escapeToken(v)) : v;
        break;
      }
      case 'rk': {
        const rk = tokens['routingKey'];
        const w = rk === undefined ? undefined : rk.split('.')[p.index];
        if (w === undefined) throw new MissingTokenError(`rk.${p.index}`);
        out += escape ? escapeToken(w) : w;
        break;
      }
      case 'header': {
        const v = headerValue(headers, p.name);
        if (v === undefined) throw new MissingTokenError(`header.${p.name}`);
        out += escape ? escapeToken(v) : v;
        break;
      }
    }
  }
  return out;
}

/**
 * The subject pattern a subject template can produce, for the stream-capture preflight and
 * `plan`: {routingKey} becomes the translated binding key (or ">" when any key is possible),
 * {rk.N} the binding key's word N, other tokens "*". Returns undefined when the set cannot be
 * written as one NATS pattern (e.g. a multi-word routing key in the middle).
 */
export function subjectPattern(t: Template, bindingKey: string | undefined): string | undefined {
  let out = '';
  for (const p of t.parts) {
    if (p.kind === 'text') out += p.text;
    else if (p.kind === 'token' && p.name === 'routingKey') out += bindingKey === undefined ? '>' : bindingKeyToSubject(bindingKey);
    else if (p.kind === 'rk') {
      const words = bindingKey === undefined ? [] : bindingKey.split('.');
      const w = words[p.index];
      if (w === undefined || w === '#' || words.slice(0, p.index).includes('#')) out += '*';
      else out += w === '*' ? '*' : escapeToken(w);
    } else out += '*';
  }
  // A wildcard glued to text ("a-*") widens to the whole token (a superset is safe for the
  // capture check); ">" that is not last cannot be written as one pattern.
  const tokens = out.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.includes('>')) {
      if (i !== tokens.length - 1) return undefined;
      tokens[i] = '>';
    } else if (tok.includes('*')) tokens[i] = '*';
  }
  return tokens.join('.');
}
