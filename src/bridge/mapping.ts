// Mappings are data: mappings/*.yaml, loaded and validated before anything connects.
// Every error names the file, the mapping and the field (MappingError). The result,
// Mapping, is what the engine runs: compiled templates, typed source block, policies.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import YAML from 'yaml';
import type { AnyConnectorDefinition } from './connector.js';
import { ConnectorConfigError } from './connector.js';
import { compileTemplate, subjectPattern, TemplateError, type Template } from './template.js';
import { isReserved, subjectProblem } from './subject.js';

export class MappingError extends Error {
  override name = 'MappingError';
  constructor(
    readonly file: string,
    readonly mapping: string | undefined,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${file}${mapping !== undefined ? `: mapping "${mapping}"` : ''}${field ? `: ${field}` : ''}: ${detail}`);
  }
}

/** What to use as Nats-Msg-Id when the dedup template's tokens are missing on a message. */
export type MissingDedupPolicy = { kind: 'hash' } | { kind: 'header'; name: string } | { kind: 'none' };

export interface RetryPolicy {
  /** Publish attempts for a message the target rejects, before it is dead-lettered. */
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export interface HeaderRules {
  /** Case-insensitive globs (`*` = any run of characters); a header is kept if it matches one... */
  readonly include: readonly RegExp[];
  /** ...and none of these. */
  readonly exclude: readonly RegExp[];
  /** Extra headers, values are templates rendered as plain text. */
  readonly add: ReadonlyArray<readonly [string, Template]>;
}

export interface Mapping {
  readonly name: string;
  readonly file: string;
  readonly connectionName: string;
  readonly connector: AnyConnectorDefinition;
  /** The connector's typed source block. */
  readonly source: unknown;
  readonly subject: Template;
  /** Subject patterns this mapping can produce (one per binding key), for preflight/plan. */
  readonly subjectPatterns: readonly (string | undefined)[];
  /** JetStream stream that must capture the subjects; undefined = core NATS (at-most-once). */
  readonly stream: string | undefined;
  readonly dedupKey: Template | undefined;
  readonly dedupMissing: MissingDedupPolicy;
  readonly headers: HeaderRules;
  readonly retry: RetryPolicy;
  readonly deadLetterSubject: string;
  readonly deadLetterStream: string | undefined;
  /**
   * Where oversized messages are parked on the source (connectors whose `oversize` is
   * 'park'); queue undefined = the connector's default. Undefined for 'retained' sources.
   */
  readonly parking: { readonly queue: string | undefined } | undefined;
}

/** A configured connection: its name, kind and the validated connection value. */
export interface ConnectionEntry {
  readonly name: string;
  readonly definition: AnyConnectorDefinition;
  readonly value: unknown;
}

export interface MappingDefaults {
  readonly retry: RetryPolicy;
}

const MAPPING_KEYS = ['name', 'source', 'target', 'dedup', 'headers', 'retry', 'deadLetter', 'parking'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Load every *.yaml / *.yml in dir (sorted), or one file. Names must be unique across files. */
export function loadMappings(
  pathOrDir: string,
  connections: ReadonlyMap<string, ConnectionEntry>,
  defaults: MappingDefaults,
): Mapping[] {
  let files: string[];
  try {
    files = statSync(pathOrDir).isDirectory()
      ? readdirSync(pathOrDir)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(pathOrDir, f))
      : [pathOrDir];
  } catch (e) {
    throw new MappingError(pathOrDir, undefined, undefined, `cannot read mappings: ${(e as Error).message}`);
  }
  const out: Mapping[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const m of parseMappingFile(file, readFileSync(file, 'utf8'), connections, defaults)) {
      const prev = seen.get(m.name);
      if (prev) throw new MappingError(file, m.name, 'name', `duplicate mapping name (also in ${prev})`);
      seen.set(m.name, file);
      out.push(m);
    }
  }
  return out;
}

/** Parse one YAML document: `mappings: [ ... ]` or a bare list of mappings. */
export function parseMappingFile(
  file: string,
  text: string,
  connections: ReadonlyMap<string, ConnectionEntry>,
  defaults: MappingDefaults,
): Mapping[] {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new MappingError(file, undefined, undefined, `invalid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return [];
  let list: unknown;
  if (Array.isArray(doc)) list = doc;
  else if (isObj(doc)) {
    const extra = Object.keys(doc).filter((k) => k !== 'mappings');
    if (extra.length > 0) throw new MappingError(file, undefined, extra[0], 'unknown top-level key (expected "mappings")');
    list = doc['mappings'];
  }
  if (!Array.isArray(list)) throw new MappingError(file, undefined, 'mappings', 'must be a list of mappings');
  return list.map((raw, i) => parseMapping(file, raw, i, connections, defaults));
}

function parseMapping(
  file: string,
  raw: unknown,
  index: number,
  connections: ReadonlyMap<string, ConnectionEntry>,
  defaults: MappingDefaults,
): Mapping {
  const label = isObj(raw) && typeof raw['name'] === 'string' ? raw['name'] : `#${index + 1}`;
  const fail = (field: string | undefined, detail: string): never => {
    throw new MappingError(file, label, field, detail);
  };
  if (!isObj(raw)) return fail(undefined, 'must be an object');
  for (const k of Object.keys(raw)) if (!MAPPING_KEYS.includes(k)) fail(k, `unknown field (known: ${MAPPING_KEYS.join(', ')})`);
  const name = raw['name'];
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name)) fail('name', 'required; letters, digits, "_" and "-" only');

  // source
  const srcRaw = raw['source'];
  if (!isObj(srcRaw)) return fail('source', 'required object');
  const connName = srcRaw['connection'];
  if (typeof connName !== 'string') return fail('source.connection', 'required: the name of a connection in the bridge config');
  const conn = connections.get(connName);
  if (!conn) return fail('source.connection', `unknown connection "${connName}" (configured: ${[...connections.keys()].join(', ') || 'none'})`);
  const { connection: _c, ...srcBlock } = srcRaw;
  let source: unknown;
  try {
    source = conn.definition.parseSource(srcBlock);
  } catch (e) {
    if (e instanceof ConnectorConfigError) return fail(`source.${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
  const provided = new Set(conn.definition.tokens(source));
  const checkTokens = (t: Template, field: string): void => {
    for (const tok of t.tokens) {
      if (tok.startsWith('header.')) continue;
      const base = /^rk\.\d+$/.test(tok) ? 'routingKey' : tok;
      if (!provided.has(base)) fail(field, `token {${tok}} is not provided by ${conn.definition.kind} sources (available: ${[...provided].map((p) => `{${p}}`).join(', ')}${provided.has('routingKey') ? ', {rk.N}' : ''}, {header.NAME})`);
    }
  };
  const compile = (text: unknown, field: string): Template => {
    if (typeof text !== 'string') return fail(field, 'must be a string template');
    try {
      const t = compileTemplate(text);
      checkTokens(t, field);
      return t;
    } catch (e) {
      if (e instanceof TemplateError) return fail(field, e.message);
      throw e;
    }
  };

  // target
  const target = raw['target'];
  if (!isObj(target)) return fail('target', 'required object with "subject" (and optional "stream")');
  for (const k of Object.keys(target)) if (k !== 'subject' && k !== 'stream') fail(`target.${k}`, 'unknown field (known: subject, stream)');
  if (target['subject'] === undefined && !provided.has('routingKey')) fail('target.subject', 'required');
  const subject = compile(target['subject'] ?? '{routingKey}', 'target.subject');
  const keys = bindingKeysOf(source);
  const subjectPatterns: (string | undefined)[] = [];
  for (const key of keys.length > 0 ? keys : [undefined]) {
    let pattern: string | undefined;
    try {
      pattern = subjectPattern(subject, key);
    } catch (e) {
      return fail('target.subject', (e as Error).message);
    }
    if (pattern !== undefined) {
      const problem = subjectProblem(pattern, true);
      if (problem) fail('target.subject', `"${subject.source}" gives subject pattern "${pattern}" that ${problem}`);
      if (isReserved(pattern)) fail('target.subject', `"${subject.source}" maps into reserved subjects (${pattern}); $JS.>, $SYS.> and _INBOX.> are refused`);
    }
    subjectPatterns.push(pattern);
  }
  const stream = optString(target['stream'], 'target.stream', fail);

  // dedup
  const dedup = raw['dedup'] ?? {};
  if (!isObj(dedup)) return fail('dedup', 'must be an object');
  for (const k of Object.keys(dedup)) if (k !== 'key' && k !== 'missing') fail(`dedup.${k}`, 'unknown field (known: key, missing)');
  let dedupKey: Template | undefined;
  if (dedup['key'] === null || dedup['key'] === false || dedup['key'] === 'none') dedupKey = undefined;
  else dedupKey = compile(dedup['key'] ?? conn.definition.defaultDedupKey, 'dedup.key');
  const always = new Set(conn.definition.alwaysTokens(source));
  const dedupAlways = dedupKey?.tokens.every((t) => always.has(t)) ?? true;
  let dedupMissing: MissingDedupPolicy = { kind: 'none' };
  const missing = dedup['missing'];
  if (missing === undefined) {
    if (!dedupAlways) fail('dedup.missing', `required: "${dedupKey!.source}" may be absent on a message; choose "hash" (content hash: identical messages collapse), "header:NAME", or "none" (redeliveries after a crash may be duplicated)`);
  } else if (missing === 'hash') dedupMissing = { kind: 'hash' };
  else if (missing === 'none') dedupMissing = { kind: 'none' };
  else if (typeof missing === 'string' && /^header:.+/.test(missing)) dedupMissing = { kind: 'header', name: missing.slice(7).toLowerCase() };
  else fail('dedup.missing', `must be "hash", "none" or "header:NAME", got ${JSON.stringify(missing)}`);

  // headers
  const headers = parseHeaderRules(raw['headers'], fail, compile);

  // retry
  const retryRaw = raw['retry'] ?? {};
  if (!isObj(retryRaw)) return fail('retry', 'must be an object');
  for (const k of Object.keys(retryRaw)) if (!['maxAttempts', 'backoffMs', 'maxBackoffMs'].includes(k)) fail(`retry.${k}`, 'unknown field (known: maxAttempts, backoffMs, maxBackoffMs)');
  const retry: RetryPolicy = {
    maxAttempts: posInt(retryRaw['maxAttempts'] ?? defaults.retry.maxAttempts, 'retry.maxAttempts', fail),
    backoffMs: posInt(retryRaw['backoffMs'] ?? defaults.retry.backoffMs, 'retry.backoffMs', fail),
    maxBackoffMs: posInt(retryRaw['maxBackoffMs'] ?? defaults.retry.maxBackoffMs, 'retry.maxBackoffMs', fail),
  };

  // dead letter
  const dl = raw['deadLetter'] ?? {};
  if (!isObj(dl)) return fail('deadLetter', 'must be an object');
  for (const k of Object.keys(dl)) if (k !== 'subject' && k !== 'stream') fail(`deadLetter.${k}`, 'unknown field (known: subject, stream)');
  const deadLetterSubject = dl['subject'] === undefined ? `bridge.dlq.${name}` : String(dl['subject']);
  const dlProblem = subjectProblem(deadLetterSubject, false);
  if (dlProblem) fail('deadLetter.subject', `"${deadLetterSubject}" ${dlProblem}`);
  if (isReserved(deadLetterSubject)) fail('deadLetter.subject', `"${deadLetterSubject}" is in a reserved subject space`);

  // parking (oversized messages whose ack would delete the only copy)
  let parking: Mapping['parking'];
  const pk = raw['parking'];
  if (conn.definition.oversize === 'park') {
    const block = pk ?? {};
    if (!isObj(block)) return fail('parking', 'must be an object with "queue"');
    for (const k of Object.keys(block)) if (k !== 'queue') fail(`parking.${k}`, 'unknown field (known: queue)');
    parking = { queue: optString(block['queue'], 'parking.queue', fail) };
  } else if (pk !== undefined) {
    fail('parking', `${conn.definition.kind} sources keep oversized messages where they are (the dead letter's Bridge-Source-* headers locate them): nothing to park`);
  }

  return {
    name: name as string,
    file: basename(file),
    connectionName: connName,
    connector: conn.definition,
    source,
    subject,
    subjectPatterns,
    stream,
    dedupKey,
    dedupMissing,
    headers,
    retry,
    deadLetterSubject,
    deadLetterStream: optString(dl['stream'], 'deadLetter.stream', fail),
    parking,
  };
}

/** Binding keys of a source block, if it has any (RabbitMQ tap mode). */
function bindingKeysOf(source: unknown): string[] {
  if (isObj(source) && Array.isArray(source['bindingKeys'])) return source['bindingKeys'].filter((k): k is string => typeof k === 'string');
  return [];
}

function optString(v: unknown, field: string, fail: (f: string, d: string) => never): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') return fail(field, 'must be a non-empty string');
  return v;
}

function posInt(v: unknown, field: string, fail: (f: string, d: string) => never): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Case-insensitive glob (only `*` is special) to RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`, 'i');
}

function parseHeaderRules(
  raw: unknown,
  fail: (f: string | undefined, d: string) => never,
  compile: (t: unknown, f: string) => Template,
): HeaderRules {
  if (raw === undefined) return { include: [/^.*$/], exclude: [], add: [] };
  if (!isObj(raw)) return fail('headers', 'must be an object with include / exclude / add');
  for (const k of Object.keys(raw)) if (!['include', 'exclude', 'add'].includes(k)) fail(`headers.${k}`, 'unknown field (known: include, exclude, add)');
  const globs = (v: unknown, field: string, dflt: string[]): RegExp[] => {
    if (v === undefined) return dflt.map(globToRegExp);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return fail(field, 'must be a list of header name globs');
    return (v as string[]).map(globToRegExp);
  };
  const addRaw = raw['add'] ?? {};
  if (!isObj(addRaw)) return fail('headers.add', 'must be a map of header name to template');
  const add: Array<readonly [string, Template]> = [];
  for (const [k, v] of Object.entries(addRaw)) {
    if (!/^[!-9;-~]+$/.test(k)) fail(`headers.add.${k}`, 'header names are printable ASCII without ":" or spaces');
    add.push([k, compile(v, `headers.add.${k}`)]);
  }
  return { include: globs(raw['include'], 'headers.include', ['*']), exclude: globs(raw['exclude'], 'headers.exclude', []), add };
}
