/**
 * Open modals as Slack keeps them: the view, its state (what the user has typed or picked) and its hash.
 * Modelled on Slack's documented rules for views.update:
 * - "Data entered or selected in input blocks can be preserved while updating views. The new view object
 *   ... should contain the same input blocks and elements with identical block_id and action_id values."
 *   So a value survives an update exactly when its block_id and action_id are both still there; the new
 *   view's initial_value / initial_option apply only to inputs that had no value yet.
 * - `hash` "represents view state to protect against possible race conditions": every update gives the
 *   view a new hash, and an update naming another hash than the current one fails with hash_conflict.
 * Interactions (a select in a dispatch_action block, a submission) carry the view as Slack holds it then.
 */
import { randomUUID } from 'node:crypto';

type Element = { type: string; action_id?: string; initial_value?: string; initial_option?: { value: string; text?: unknown } };
type Block = { type: string; block_id?: string; element?: Element };
export type ViewObject = { callback_id?: string; private_metadata?: string; blocks?: Block[]; [key: string]: unknown };
/** state.values: block_id -> action_id -> the element's value. */
export type StateValues = Record<string, Record<string, Record<string, unknown>>>;

export interface HeldView {
  readonly id: string;
  view: ViewObject;
  hash: string;
  values: StateValues;
}

function inputs(view: ViewObject): { blockId: string; actionId: string; element: Element }[] {
  return (view.blocks ?? [])
    .filter((b) => b.type === 'input' && b.block_id && b.element?.action_id)
    .map((b) => ({ blockId: b.block_id!, actionId: b.element!.action_id!, element: b.element! }));
}

/** An element's value as state.values reports it, before the user touched it. */
function initialValue(element: Element): Record<string, unknown> {
  if (element.type.endsWith('_select')) return { type: element.type, selected_option: element.initial_option ?? null };
  return { type: element.type, value: element.initial_value ?? null };
}

export class FakeViews {
  private readonly held = new Map<string, HeldView>();
  private hashes = 0;

  get(id: string): HeldView {
    const view = this.held.get(id);
    if (!view) throw new Error(`no open view ${id}`);
    return view;
  }

  find(match: (view: HeldView) => boolean): HeldView | undefined {
    return [...this.held.values()].find(match);
  }

  open(view: ViewObject): HeldView {
    const held: HeldView = { id: `V${randomUUID().slice(0, 8).toUpperCase()}`, view, hash: this.nextHash(), values: {} };
    held.values = this.stateFor(view, {});
    this.held.set(held.id, held);
    return held;
  }

  /** views.update: the result Slack answers with, or its error. */
  update(viewId: string | undefined, hash: string | undefined, view: ViewObject): { ok: true; view: object } | { ok: false; error: string } {
    const held = viewId ? this.held.get(viewId) : undefined;
    if (!held) return { ok: false, error: 'not_found' };
    if (hash !== undefined && hash !== held.hash) return { ok: false, error: 'hash_conflict' };
    held.values = this.stateFor(view, held.values);
    held.view = view;
    held.hash = this.nextHash();
    return { ok: true, view: this.snapshot(held) };
  }

  /** The user types into a text or number input (no request to the app: Slack only records it). */
  type(viewId: string, blockId: string, value: string): void {
    this.set(viewId, blockId, (element) => ({ type: element.type, value }));
  }

  /** The user picks an option of a select; in a dispatch_action block Slack then sends block_actions. */
  pick(viewId: string, blockId: string, value: string): void {
    this.set(viewId, blockId, (element) => ({ type: element.type, selected_option: { text: { type: 'plain_text', text: value }, value } }));
  }

  /** The view as interaction payloads carry it: with its current state and hash. */
  snapshot(held: HeldView): object {
    return { ...held.view, id: held.id, team_id: 'T0FAKE', type: 'modal', state: { values: structuredClone(held.values) }, hash: held.hash, app_id: 'A0FAKE', bot_id: 'BBOT' };
  }

  private set(viewId: string, blockId: string, value: (element: Element) => Record<string, unknown>): void {
    const held = this.get(viewId);
    const input = inputs(held.view).find((i) => i.blockId === blockId);
    if (!input) throw new Error(`view ${viewId} has no input block ${blockId}`);
    held.values[blockId] = { [input.actionId]: value(input.element) };
  }

  /** Values kept where block_id and action_id are unchanged; new inputs start from their initial values. */
  private stateFor(view: ViewObject, previous: StateValues): StateValues {
    const values: StateValues = {};
    for (const { blockId, actionId, element } of inputs(view)) {
      const kept = previous[blockId]?.[actionId];
      values[blockId] = { [actionId]: kept ?? initialValue(element) };
    }
    return values;
  }

  private nextHash(): string {
    this.hashes += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.hashes).padStart(8, '0')}`;
  }
}
