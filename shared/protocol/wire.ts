/**
 * Runtime shapes of the gRPC messages (proto/fedcausal/v1/federation.proto) as grpc-js
 * hands them over under LOADER_OPTIONS. Their static types are the generated ones in
 * ./generated/; the checks at the bottom fail to compile when a schema and its
 * generated type disagree on the fields, so a proto change shows up here too.
 */
import { z } from 'zod';
import type { ChallengeReply__Output } from './generated/fedcausal/v1/ChallengeReply.ts';
import type { Envelope__Output } from './generated/fedcausal/v1/Envelope.ts';
import type { Frame__Output } from './generated/fedcausal/v1/Frame.ts';
import type { SignedHeader__Output } from './generated/fedcausal/v1/SignedHeader.ts';
import type { SubmitReply__Output } from './generated/fedcausal/v1/SubmitReply.ts';
import type { Welcome__Output } from './generated/fedcausal/v1/Welcome.ts';

/** protobufjs decodes bytes fields to Buffers, a Uint8Array subclass. */
const bytes = z.custom<Buffer>((v) => v instanceof Uint8Array, 'expected bytes');

export const SignedHeaderSchema = z.object({ header: bytes, signature: bytes });

export const EnvelopeSchema = z.object({ header: bytes, signature: bytes, chunks: z.array(bytes) });

export const WelcomeSchema = z.object({
  federation: z.string(),
  protocolVersion: z.number().int().nonnegative(),
  message: z.string(),
});

export const SubmitReplySchema = z.object({ accepted: z.boolean(), message: z.string() });

/** The join challenge: 32 random bytes from the coordinator. */
export const ChallengeReplySchema = z.object({ nonce: bytes.refine((b) => b.length === 32, 'nonce must be 32 bytes') });

/**
 * One Frame: `body` names the member that is set, and only that member is kept (a frame
 * that carried two on the wire means the last one, as proto3 says; protobufjs keeps both).
 */
export const FrameSchema = z.discriminatedUnion(
  'body',
  [
    z.object({ body: z.literal('header'), header: SignedHeaderSchema }),
    z.object({ body: z.literal('chunk'), chunk: bytes }),
    z.object({ body: z.literal('welcome'), welcome: WelcomeSchema }),
  ],
  { error: 'a frame must carry one of header, chunk or welcome' },
);

export type Frame = z.output<typeof FrameSchema>;
export type Welcome = z.output<typeof WelcomeSchema>;
export type SubmitReply = z.output<typeof SubmitReplySchema>;

// Compile-time agreement with the generated types: same field names, and every parsed value is a valid decoded message.
type KeysOf<T> = T extends unknown ? keyof T : never;
type Agrees<Parsed, Generated> = [KeysOf<Parsed>] extends [keyof Generated]
  ? [keyof Generated] extends [KeysOf<Parsed>]
    ? [Parsed] extends [Generated]
      ? true
      : false
    : false
  : false;
type Holds<T extends true> = T;
export type WireSchemasMatchGenerated = [
  Holds<Agrees<z.output<typeof SignedHeaderSchema>, SignedHeader__Output>>,
  Holds<Agrees<z.output<typeof EnvelopeSchema>, Envelope__Output>>,
  Holds<Agrees<Welcome, Welcome__Output>>,
  Holds<Agrees<SubmitReply, SubmitReply__Output>>,
  Holds<Agrees<z.output<typeof ChallengeReplySchema>, ChallengeReply__Output>>,
  Holds<Agrees<Frame, Frame__Output>>,
];
