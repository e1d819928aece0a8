/**
 * Objects keyed by names users choose (tensor, node, output names), for the few places a format
 * is a JSON object (vta-graph/1 `tensors`, a bundle's `outputs`, a run's outputs by name). A plain
 * `{}` turns `__proto__` into a prototype change and finds `constructor` or `toString` that no one
 * wrote; these records have no prototype and are read through own properties only. New code keeps
 * names in a Map.
 */

/** A record with no prototype holding `entries`: every name, `__proto__` included, is an own key. */
export function nameRecord<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [name, value] of entries) setName(out, name, value);
  return out;
}

/** Set `name` as an own, enumerable property (never the `__proto__` setter). */
export function setName<T>(record: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Whether `record` itself holds `name` (not its prototype). */
export function hasName(record: object, name: string): boolean {
  return Object.hasOwn(record, name);
}

/** The value `record` itself holds under `name`, or undefined. */
export function byName<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** A record's own entries as a Map. */
export function namesToMap<T>(record: Readonly<Record<string, T>>): Map<string, T> {
  return new Map(Object.entries(record));
}
