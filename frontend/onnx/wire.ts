/**
 * The protobuf wire format of an ONNX model checked before it is decoded: every field's tag, varint
 * and length must lie inside its message, and every field the importer reads must carry the wire
 * type the ONNX schema gives it. protobufjs's decoder ignores a known field's wire type (a `graph`
 * written as a varint still decodes as a graph), where onnxruntime's parser sees an unknown field
 * and refuses the model; a refusal here names the field by its path (graph.node[3].attribute[0].ints).
 */
const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

/** A known field: its name, the wire types it may have (repeated scalars: packed too), its message. */
interface Field { name: string; wire: readonly number[]; message?: string; repeated?: boolean }

const f = (name: string, wire: number | number[], message?: string, repeated = false): Field =>
  ({ name, wire: Array.isArray(wire) ? wire : [wire], ...(message ? { message } : {}), repeated });
const str = (name: string, repeated = false) => f(name, BYTES, undefined, repeated);
const int = (name: string) => f(name, VARINT);
const ints = (name: string) => f(name, [VARINT, BYTES], undefined, true);
const msgs = (name: string, message: string) => f(name, BYTES, message, true);

/** The fields of the ONNX messages the importer reads (onnx.proto), by field number. */
const SCHEMA = new Map<string, Map<number, Field>>(Object.entries({
  ModelProto: { 1: int('ir_version'), 8: msgs('opset_import', 'OperatorSetIdProto'), 2: str('producer_name'), 3: str('producer_version'), 4: str('domain'), 5: int('model_version'), 6: str('doc_string'), 7: f('graph', BYTES, 'GraphProto') },
  OperatorSetIdProto: { 1: str('domain'), 2: int('version') },
  GraphProto: { 1: msgs('node', 'NodeProto'), 2: str('name'), 5: msgs('initializer', 'TensorProto'), 10: str('doc_string'), 11: msgs('input', 'ValueInfoProto'), 12: msgs('output', 'ValueInfoProto'), 13: msgs('value_info', 'ValueInfoProto') },
  NodeProto: { 1: str('input', true), 2: str('output', true), 3: str('name'), 4: str('op_type'), 7: str('domain'), 5: msgs('attribute', 'AttributeProto'), 6: str('doc_string') },
  AttributeProto: {
    1: str('name'), 21: str('ref_attr_name'), 13: str('doc_string'), 20: int('type'), 2: f('f', FIXED32), 3: int('i'), 4: str('s'), 5: f('t', BYTES, 'TensorProto'),
    6: f('g', BYTES, 'GraphProto'), 7: f('floats', [FIXED32, BYTES], undefined, true), 8: ints('ints'), 9: str('strings', true), 10: msgs('tensors', 'TensorProto'), 11: msgs('graphs', 'GraphProto'),
  },
  TensorProto: {
    1: ints('dims'), 2: int('data_type'), 4: f('float_data', [FIXED32, BYTES], undefined, true), 5: ints('int32_data'), 6: str('string_data', true), 7: ints('int64_data'), 8: str('name'),
    12: str('doc_string'), 9: str('raw_data'), 14: int('data_location'), 10: f('double_data', [FIXED64, BYTES], undefined, true), 11: ints('uint64_data'),
  },
  ValueInfoProto: { 1: str('name'), 2: f('type', BYTES, 'TypeProto'), 3: str('doc_string') },
  TypeProto: { 1: f('tensor_type', BYTES, 'TypeProtoTensor'), 6: str('denotation') },
  TypeProtoTensor: { 1: int('elem_type'), 2: f('shape', BYTES, 'TensorShapeProto') },
  TensorShapeProto: { 1: msgs('dim', 'Dimension') },
  Dimension: { 1: int('dim_value'), 2: str('dim_param'), 3: str('denotation') },
}).map(([message, fields]) => [message, new Map(Object.entries(fields).map(([n, field]) => [Number(n), field]))]));

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit'];
const wireName = (w: number): string => WIRE_NAMES[w] ?? `${w}`;

/** Deepest nesting followed (graphs in attributes nest): deeper models are refused, not recursed into. */
const MAX_DEPTH = 64;

/**
 * Refuse (through `refuse`, given the reason) bytes whose wire format is not a well-formed
 * ModelProto. Walks iteratively: a message's fields are checked in one loop, sub-messages pushed on
 * a stack.
 */
export function checkModelWire(bytes: Uint8Array, refuse: (why: string) => never): void {
  const bad = (path: string, why: string): never => refuse(`${path ? `${path}: ` : ''}${why}`);
  const stack: { message: string; start: number; end: number; path: string; depth: number }[] = [{ message: 'ModelProto', start: 0, end: bytes.length, path: '', depth: 0 }];
  while (stack.length) {
    const { message, start, end, path, depth } = stack.pop()!;
    if (depth > MAX_DEPTH) bad(path, `nested more than ${MAX_DEPTH} messages deep`);
    const fields = SCHEMA.get(message)!;
    const counts = new Map<number, number>();
    let at = start;
    const varint = (what: string): number => {
      let value = 0;
      for (let k = 0; k < 10; k++) {
        if (at >= end) bad(path, `${what} runs past the end of its message at byte ${at}`);
        const b = bytes[at++]!;
        // Values above 2^53 lose precision here; only lengths and tags are used, and those must be small.
        value += (b & 0x7f) * 2 ** (7 * k);
        if (b < 0x80) return value;
      }
      return bad(path, `${what} at byte ${at} is longer than 10 bytes`);
    };
    while (at < end) {
      const tagAt = at;
      const tag = varint('a field tag');
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      const field = fields.get(number);
      const index = counts.get(number) ?? 0;
      counts.set(number, index + 1);
      const where = `${path ? `${path}.` : ''}${field ? field.name : `field ${number}`}${field?.message && field.repeated ? `[${index}]` : ''}`;
      if (number === 0) bad(path, `field number 0 at byte ${tagAt}`);
      if (field && !field.wire.includes(wire)) bad(where, `wire type ${wireName(wire)}, the schema's is ${field.wire.map(wireName).join(' or ')}`);
      if (wire === VARINT) varint(`field ${where}`);
      else if (wire === FIXED64 || wire === FIXED32) {
        at += wire === FIXED64 ? 8 : 4;
        if (at > end) bad(where, `runs past the end of its message`);
      } else if (wire === BYTES) {
        const length = varint(`the length of ${where}`);
        if (length > end - at) bad(where, `length ${length} runs past the end of its message (${end - at} bytes left)`);
        if (field?.message) stack.push({ message: field.message, start: at, end: at + length, path: where, depth: depth + 1 });
        at += length;
      } else bad(where, `wire type ${wireName(wire)} at byte ${tagAt} is not supported`);
    }
  }
}
