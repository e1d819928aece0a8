/**
 * Failure classes that issue 16 lists and other branches fix: the fuzzers expect the strict outcome
 * (a clean `error[CODE]` or a correct result) for them too, but a failure of one of these classes is
 * counted as pending instead of failing the suite, until the fix is merged. After the merge, delete
 * the entry: its cases then run strictly. `skip` entries are not run at all (they would hang).
 */
export interface Pending {
  /** Fuzz file (`npy`, `onnx`, …), or '*' for all. */
  target: string;
  /** Matches the case's mutation category. */
  category?: RegExp;
  /** Matches the failure's description. */
  why?: RegExp;
  /** Not run: the case would hang the suite. */
  skip?: boolean;
  reason: string;
}

export const PENDING: readonly Pending[] = [
];

export function pendingEntry(target: string, category: string, why?: string): Pending | undefined {
  return PENDING.find(
    (p) => (p.target === '*' || p.target === target) && (!p.category || p.category.test(category)) && (!p.why || (why !== undefined && p.why.test(why))),
  );
}

export function pendingReason(target: string, category: string, why: string): string | undefined {
  return pendingEntry(target, category, why)?.reason;
}

/** A case that must not run until its fix is merged (it would hang). */
export function pendingSkip(target: string, category: string): string | undefined {
  const p = PENDING.find((e) => e.skip && (e.target === '*' || e.target === target) && (!e.category || e.category.test(category)));
  return p?.reason;
}
