// Original file: proto/fedcausal/v1/federation.proto


/**
 * First frame of a Subscribe stream, confirming the join.
 */
export interface Welcome {
  'federation'?: (string);
  'protocolVersion'?: (number);
  'message'?: (string);
}

/**
 * First frame of a Subscribe stream, confirming the join.
 */
export interface Welcome__Output {
  'federation': (string);
  'protocolVersion': (number);
  'message': (string);
}
