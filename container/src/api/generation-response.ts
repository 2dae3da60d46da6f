import type { OutputFormat } from './limits';

/** One generated image as the engine's server returns it in JSON. */
export interface GeneratedImage {
  /** Base64 of the encoded image bytes. */
  readonly data: string;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  /** The seed that reproduces exactly this image with `num_images: 1`. */
  readonly seed: number;
}

export interface GenerationTimings {
  readonly queue_ms: number;
  readonly encode_prompt_ms: number;
  readonly denoise_ms: number;
  readonly decode_ms: number;
  readonly total_ms: number;
}

/** Body of a successful `POST /invocations` with a JSON `Accept`. */
export interface GenerationResponse {
  readonly images: GeneratedImage[];
  readonly timings: GenerationTimings;
  /** Resolved settings, so a caller can repeat the generation exactly. */
  readonly parameters: {
    readonly steps: number;
    readonly guidance_scale: number;
    readonly width: number;
    readonly height: number;
    readonly scheduler: string;
    readonly num_images: number;
  };
}

/** The error shape of every tier: engine server, gateway and local mode. */
export interface ErrorBody {
  readonly error: {
    /** Stable machine-readable code, e.g. `invalid_request`, `queue_full`, `quota_exceeded`. */
    readonly code: string;
    readonly message: string;
    /** The offending field, for validation errors. */
    readonly field?: string;
    /** Correlates with the server's logs. */
    readonly request_id?: string;
  };
}
