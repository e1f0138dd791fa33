// Original file: proto/fedcausal/v1/federation.proto


export interface SignedHeader {
  'header'?: (Buffer | Uint8Array | string);
  'signature'?: (Buffer | Uint8Array | string);
}

export interface SignedHeader__Output {
  'header': (Buffer);
  'signature': (Buffer);
}
