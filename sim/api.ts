/**
 * The simulator's public contract: stage and queue names, counters, and the observer hooks that
 * tools such as the race checker and tracers attach to. They are the machine's vocabulary, defined
 * once in isa/pipeline.ts; this module names them for drivers and tools that talk to a simulator.
 */
export type { Counters, InsnEvent, QueueName, SimObserver, SramView, StageName } from '../isa/pipeline.ts';
export { zeroCounters } from '../isa/pipeline.ts';
