import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ChallengeReply as _fedcausal_v1_ChallengeReply, ChallengeReply__Output as _fedcausal_v1_ChallengeReply__Output } from './fedcausal/v1/ChallengeReply.ts';
import type { ChallengeRequest as _fedcausal_v1_ChallengeRequest, ChallengeRequest__Output as _fedcausal_v1_ChallengeRequest__Output } from './fedcausal/v1/ChallengeRequest.ts';
import type { Envelope as _fedcausal_v1_Envelope, Envelope__Output as _fedcausal_v1_Envelope__Output } from './fedcausal/v1/Envelope.ts';
import type { FederationClient as _fedcausal_v1_FederationClient, FederationDefinition as _fedcausal_v1_FederationDefinition } from './fedcausal/v1/Federation.ts';
import type { Frame as _fedcausal_v1_Frame, Frame__Output as _fedcausal_v1_Frame__Output } from './fedcausal/v1/Frame.ts';
import type { SignedHeader as _fedcausal_v1_SignedHeader, SignedHeader__Output as _fedcausal_v1_SignedHeader__Output } from './fedcausal/v1/SignedHeader.ts';
import type { SubmitReply as _fedcausal_v1_SubmitReply, SubmitReply__Output as _fedcausal_v1_SubmitReply__Output } from './fedcausal/v1/SubmitReply.ts';
import type { Welcome as _fedcausal_v1_Welcome, Welcome__Output as _fedcausal_v1_Welcome__Output } from './fedcausal/v1/Welcome.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  fedcausal: {
    v1: {
      ChallengeReply: MessageTypeDefinition<_fedcausal_v1_ChallengeReply, _fedcausal_v1_ChallengeReply__Output>
      ChallengeRequest: MessageTypeDefinition<_fedcausal_v1_ChallengeRequest, _fedcausal_v1_ChallengeRequest__Output>
      Envelope: MessageTypeDefinition<_fedcausal_v1_Envelope, _fedcausal_v1_Envelope__Output>
      Federation: SubtypeConstructor<typeof grpc.Client, _fedcausal_v1_FederationClient> & { service: _fedcausal_v1_FederationDefinition }
      Frame: MessageTypeDefinition<_fedcausal_v1_Frame, _fedcausal_v1_Frame__Output>
      SignedHeader: MessageTypeDefinition<_fedcausal_v1_SignedHeader, _fedcausal_v1_SignedHeader__Output>
      SubmitReply: MessageTypeDefinition<_fedcausal_v1_SubmitReply, _fedcausal_v1_SubmitReply__Output>
      Welcome: MessageTypeDefinition<_fedcausal_v1_Welcome, _fedcausal_v1_Welcome__Output>
    }
  }
}

