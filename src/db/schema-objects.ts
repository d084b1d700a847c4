/**
 * The application's schema objects: schemas, relations (tables, indexes, sequences, views), types
 * and functions outside Postgres's own catalogs. The migrations alone fix them; a queue that made
 * tables or queues per request options would add some with every new option value.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

const USER_SCHEMAS = `SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'`;

/** The tables the migrations create, all in "public". */
const MIGRATED_TABLES = ['requests', 'request_images', 'request_attempts', 'comparisons', '_prisma_migrations'];

export async function countSchemaObjects(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH s AS (${USER_SCHEMAS})
     SELECT ((SELECT count(*) FROM s)
           + (SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM s))
           + (SELECT count(*) FROM pg_type WHERE typnamespace IN (SELECT oid FROM s))
           + (SELECT count(*) FROM pg_proc WHERE pronamespace IN (SELECT oid FROM s)))::int AS n`,
  );
  return rows[0]!.n;
}

/** Schemas and tables no migration made (a queue library's, or anything else), by name. */
export async function unmigratedObjects(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ what: string }>(
    `WITH s AS (${USER_SCHEMAS})
     SELECT 'schema ' || nspname AS what FROM s WHERE nspname <> 'public'
     UNION ALL
     SELECT 'table ' || schemaname || '.' || tablename FROM pg_tables
       WHERE schemaname IN (SELECT nspname FROM s) AND NOT (schemaname = 'public' AND tablename = ANY($1))
     ORDER BY 1`,
    [MIGRATED_TABLES],
  );
  return rows.map((r) => r.what);
}
