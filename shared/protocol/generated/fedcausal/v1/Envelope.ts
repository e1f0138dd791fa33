// Original file: proto/fedcausal/v1/federation.proto


/**
 * A whole small message in one piece (join).
 */
export interface Envelope {
  'header'?: (Buffer | Uint8Array | string);
  'signature'?: (Buffer | Uint8Array | string);
  'chunks'?: (Buffer | Uint8Array | string)[];
}

/**
 * A whole small message in one piece (join).
 */
export interface Envelope__Output {
  'header': (Buffer);
  'signature': (Buffer);
  'chunks': (Buffer)[];
}
