// Original file: proto/fedcausal/v1/federation.proto


export interface ChallengeReply {
  'nonce'?: (Buffer | Uint8Array | string);
}

export interface ChallengeReply__Output {
  'nonce': (Buffer);
}
