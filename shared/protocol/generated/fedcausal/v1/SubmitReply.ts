// Original file: proto/fedcausal/v1/federation.proto


export interface SubmitReply {
  'accepted'?: (boolean);
  'message'?: (string);
}

export interface SubmitReply__Output {
  'accepted': (boolean);
  'message': (string);
}
