// Original file: proto/fedcausal/v1/federation.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChallengeReply as _fedcausal_v1_ChallengeReply, ChallengeReply__Output as _fedcausal_v1_ChallengeReply__Output } from '../../fedcausal/v1/ChallengeReply.ts';
import type { ChallengeRequest as _fedcausal_v1_ChallengeRequest, ChallengeRequest__Output as _fedcausal_v1_ChallengeRequest__Output } from '../../fedcausal/v1/ChallengeRequest.ts';
import type { Envelope as _fedcausal_v1_Envelope, Envelope__Output as _fedcausal_v1_Envelope__Output } from '../../fedcausal/v1/Envelope.ts';
import type { Frame as _fedcausal_v1_Frame, Frame__Output as _fedcausal_v1_Frame__Output } from '../../fedcausal/v1/Frame.ts';
import type { SubmitReply as _fedcausal_v1_SubmitReply, SubmitReply__Output as _fedcausal_v1_SubmitReply__Output } from '../../fedcausal/v1/SubmitReply.ts';

export interface FederationClient extends grpc.Client {
  /**
   * First call of every join: a fresh random nonce from the coordinator, which the
   * site's signed (and encrypted) join must carry. The coordinator accepts a join only
   * with a nonce it issued to that certified site, once and within a minute, so a
   * recorded join is worthless, also after a coordinator restart.
   */
  Challenge(argument: _fedcausal_v1_ChallengeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  Challenge(argument: _fedcausal_v1_ChallengeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  Challenge(argument: _fedcausal_v1_ChallengeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  Challenge(argument: _fedcausal_v1_ChallengeRequest, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  /**
   * First call of every join: a fresh random nonce from the coordinator, which the
   * site's signed (and encrypted) join must carry. The coordinator accepts a join only
   * with a nonce it issued to that certified site, once and within a minute, so a
   * recorded join is worthless, also after a coordinator restart.
   */
  challenge(argument: _fedcausal_v1_ChallengeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  challenge(argument: _fedcausal_v1_ChallengeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  challenge(argument: _fedcausal_v1_ChallengeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  challenge(argument: _fedcausal_v1_ChallengeRequest, callback: grpc.requestCallback<_fedcausal_v1_ChallengeReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * A site streams one result back: the first frame holds the header, then chunks.
   */
  Submit(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  Submit(metadata: grpc.Metadata, callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  Submit(options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  Submit(callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  /**
   * A site streams one result back: the first frame holds the header, then chunks.
   */
  submit(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  submit(metadata: grpc.Metadata, callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  submit(options: grpc.CallOptions, callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  submit(callback: grpc.requestCallback<_fedcausal_v1_SubmitReply__Output>): grpc.ClientWritableStream<_fedcausal_v1_Frame>;
  
  /**
   * A site joins with a signed 'join' envelope and keeps this stream open for the
   * session: the coordinator pushes each round's task (header, then chunks) down it.
   * The stream closing is how the coordinator learns a site went away.
   */
  Subscribe(argument: _fedcausal_v1_Envelope, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedcausal_v1_Frame__Output>;
  Subscribe(argument: _fedcausal_v1_Envelope, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedcausal_v1_Frame__Output>;
  /**
   * A site joins with a signed 'join' envelope and keeps this stream open for the
   * session: the coordinator pushes each round's task (header, then chunks) down it.
   * The stream closing is how the coordinator learns a site went away.
   */
  subscribe(argument: _fedcausal_v1_Envelope, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedcausal_v1_Frame__Output>;
  subscribe(argument: _fedcausal_v1_Envelope, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedcausal_v1_Frame__Output>;
  
}

export interface FederationHandlers extends grpc.UntypedServiceImplementation {
  /**
   * First call of every join: a fresh random nonce from the coordinator, which the
   * site's signed (and encrypted) join must carry. The coordinator accepts a join only
   * with a nonce it issued to that certified site, once and within a minute, so a
   * recorded join is worthless, also after a coordinator restart.
   */
  Challenge: grpc.handleUnaryCall<_fedcausal_v1_ChallengeRequest__Output, _fedcausal_v1_ChallengeReply>;
  
  /**
   * A site streams one result back: the first frame holds the header, then chunks.
   */
  Submit: grpc.handleClientStreamingCall<_fedcausal_v1_Frame__Output, _fedcausal_v1_SubmitReply>;
  
  /**
   * A site joins with a signed 'join' envelope and keeps this stream open for the
   * session: the coordinator pushes each round's task (header, then chunks) down it.
   * The stream closing is how the coordinator learns a site went away.
   */
  Subscribe: grpc.handleServerStreamingCall<_fedcausal_v1_Envelope__Output, _fedcausal_v1_Frame>;
  
}

export interface FederationDefinition extends grpc.ServiceDefinition {
  Challenge: MethodDefinition<_fedcausal_v1_ChallengeRequest, _fedcausal_v1_ChallengeReply, _fedcausal_v1_ChallengeRequest__Output, _fedcausal_v1_ChallengeReply__Output>
  Submit: MethodDefinition<_fedcausal_v1_Frame, _fedcausal_v1_SubmitReply, _fedcausal_v1_Frame__Output, _fedcausal_v1_SubmitReply__Output>
  Subscribe: MethodDefinition<_fedcausal_v1_Envelope, _fedcausal_v1_Frame, _fedcausal_v1_Envelope__Output, _fedcausal_v1_Frame__Output>
}
