// Original file: proto/fedcausal/v1/federation.proto

import type { SignedHeader as _fedcausal_v1_SignedHeader, SignedHeader__Output as _fedcausal_v1_SignedHeader__Output } from '../../fedcausal/v1/SignedHeader.ts';
import type { Welcome as _fedcausal_v1_Welcome, Welcome__Output as _fedcausal_v1_Welcome__Output } from '../../fedcausal/v1/Welcome.ts';

export interface Frame {
  'header'?: (_fedcausal_v1_SignedHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'welcome'?: (_fedcausal_v1_Welcome | null);
  'body'?: "header"|"chunk"|"welcome";
}

export interface Frame__Output {
  'header'?: (_fedcausal_v1_SignedHeader__Output | null);
  'chunk'?: (Buffer);
  'welcome'?: (_fedcausal_v1_Welcome__Output | null);
  'body'?: "header"|"chunk"|"welcome";
}
