// A sampler's own options, as GET /api/samplers describes them ({ name, type, description, default, min, max,
// integer, values }): the fields under the command box, typed `name:value` in a /generate command, and the
// "name value" text of a request's parameters. The page never names an option itself.

/** What an option accepts, in the words the API's errors use: "a number in 0..1", "true or false", "one of a, b". */
function allowedValues(spec) {
  if (spec.type === 'boolean') return 'true or false';
  if (spec.type === 'enum') return `one of ${spec.values.join(', ')}`;
  const kind = spec.integer ? 'an integer' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined && !spec.minExclusive && !spec.maxExclusive) return `${kind} in ${spec.min}..${spec.max}`;
  const bounds = [];
  if (spec.min !== undefined) bounds.push(`${spec.minExclusive ? '>' : '>='} ${spec.min}`);
  if (spec.max !== undefined) bounds.push(`${spec.maxExclusive ? '<' : '<='} ${spec.max}`);
  return bounds.length ? `${kind} ${bounds.join(' and ')}` : kind;
}

function inRange(spec, n) {
  if (spec.integer && !Number.isInteger(n)) return false;
  if (spec.min !== undefined && (spec.minExclusive ? n <= spec.min : n < spec.min)) return false;
  if (spec.max !== undefined && (spec.maxExclusive ? n >= spec.max : n > spec.max)) return false;
  return true;
}

/** Text (a field or a typed `name:value`) as the option's value; an Error naming the option and what it accepts. */
function parseOptionValue(sampler, spec, text) {
  const value = String(text).trim();
  const bad = () => new Error(`option ${spec.name} must be ${allowedValues(spec)} for sampler ${sampler.name} (got "${text}")`);
  if (spec.type === 'boolean') {
    if (value !== 'true' && value !== 'false') throw bad();
    return value === 'true';
  }
  if (spec.type === 'enum') {
    if (!spec.values.includes(value)) throw bad();
    return value;
  }
  const n = value === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || !inRange(spec, n)) throw bad();
  return n;
}

/** Typed `{ name: text }` converted with the sampler's declarations; an option it does not take is named with the ones it does. */
export function typedOptions(sampler, texts) {
  const options = {};
  for (const [name, text] of Object.entries(texts)) {
    const spec = sampler.options.find((s) => s.name === name);
    if (!spec) {
      const names = sampler.options.map((s) => s.name);
      throw new Error(`sampler ${sampler.name} takes no option "${name}"; ${names.length ? `its options: ${names.join(', ')}` : 'it takes no options'}`);
    }
    options[name] = parseOptionValue(sampler, spec, text);
  }
  return options;
}

/** Every option name any sampler declares: the /generate keys besides the command's own. */
export function optionNames(samplers) {
  return new Set(samplers.flatMap((s) => s.options.map((o) => o.name)));
}

/** One labelled field per option of the sampler, empty = the sampler's default (shown as the placeholder or first choice). */
export function renderOptionFields(container, sampler, el) {
  const fields = (sampler ? sampler.options : []).map((spec) => {
    const id = `option-${spec.name}`;
    const title = `${spec.description} (${allowedValues(spec)})`;
    let input;
    if (spec.type === 'number') {
      input = el('input', { id, type: 'number', inputmode: 'decimal', step: spec.integer ? '1' : 'any', placeholder: spec.default === undefined ? 'default' : String(spec.default), title });
      if (spec.min !== undefined) input.min = String(spec.min);
      if (spec.max !== undefined) input.max = String(spec.max);
    } else {
      const values = spec.type === 'boolean' ? ['true', 'false'] : spec.values;
      input = el('select', { id, title }, el('option', { value: '', text: spec.default === undefined ? 'default' : `default (${spec.default})` }), ...values.map((v) => el('option', { value: v, text: v })));
    }
    input.dataset.option = spec.name;
    return el('span', { class: 'option-field' }, el('label', { for: id, text: spec.name }), ' ', input);
  });
  container.replaceChildren(...fields);
  container.hidden = fields.length === 0;
}

/** The filled-in fields as `{ name: text }`. */
export function fieldTexts(container) {
  const texts = {};
  for (const input of container.querySelectorAll('[data-option]')) if (input.value !== '') texts[input.dataset.option] = input.value;
  return texts;
}

/** A request's stored options as "name value" pairs sorted by name (as the server formats them). */
export function optionPairs(options) {
  return Object.entries(options || {})
    .filter(([, v]) => v !== null && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

/** A request's stored options as "name value, name value" (empty when it has none). */
export function optionsText(options) {
  return optionPairs(options)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
