/**
 * @prisma/adapter-pg 6.19 throws UnsupportedNativeDataType on catalog types such as `name` and
 * `"char"` (prisma/orm#27403), which the schema engine reads while migrating. Rather than pulling a
 * second adapter version, this pg.Client reports those columns as text (their text form is exactly
 * what Prisma wants); rows are untouched because pg has already parsed them by then.
 */
import pg from 'pg';

const TEXT_OID = 25;
const TEXT_ARRAY_OID = 1009;
/** Catalog scalar types the adapter rejects, all of which are plain strings in text format. */
const AS_TEXT = new Set([18 /* "char" */, 19 /* name */, 24 /* regproc */, 194 /* pg_node_tree */, 2205 /* regclass */, 2206 /* regtype */]);
/** Arrays of the above ("char"[], name[]). */
const AS_TEXT_ARRAY = new Set([1002, 1003]);

interface FieldLike {
  dataTypeID: number;
}

function patchFields(result: unknown): void {
  const results = Array.isArray(result) ? result : [result];
  for (const r of results) {
    const fields = (r as { fields?: FieldLike[] } | null)?.fields;
    if (!fields) continue;
    for (const f of fields) {
      if (AS_TEXT.has(f.dataTypeID)) f.dataTypeID = TEXT_OID;
      else if (AS_TEXT_ARRAY.has(f.dataTypeID)) f.dataTypeID = TEXT_ARRAY_OID;
    }
  }
}

export class CatalogFriendlyClient extends pg.Client {
  // pg's overloads (promise, callback, submittable) are not expressible through `super` generically.
  override query(...args: unknown[]): never {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as (err: unknown, res: unknown) => void;
      args[args.length - 1] = (err: unknown, res: unknown) => {
        if (!err) patchFields(res);
        callback(err, res);
      };
      return (pg.Client.prototype.query as (...a: unknown[]) => never).apply(this, args);
    }
    const out = (pg.Client.prototype.query as (...a: unknown[]) => unknown).apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<unknown>).then((res) => {
        patchFields(res);
        return res;
      }) as never;
    }
    return out as never;
  }
}
