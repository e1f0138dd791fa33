// Original file: proto/fedcausal/v1/federation.proto


export interface ChallengeRequest {
}

export interface ChallengeRequest__Output {
}
