import type { Container } from './limits.ts';

/** Width and height in pixels, as displayed. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

/** One change `--fit` makes to a clip, with the numbers to tell the user. */
export type FitChange =
  | { readonly kind: 'trim'; readonly fromSec: number; readonly toSec: number }
  | { readonly kind: 'scale'; readonly from: Size; readonly to: Size }
  | { readonly kind: 'crop'; readonly from: Size; readonly to: Size }
  | { readonly kind: 'reencode'; readonly fromCodec: string; readonly toCodec: string }
  | { readonly kind: 'remux'; readonly fromContainer: Container; readonly toContainer: Container }
  | { readonly kind: 'shrink'; readonly fromBytes: number; readonly maxBytes: number };

/** How to transcode a clip so it complies, and what that changes. */
export interface FitPlan {
  readonly changes: readonly FitChange[];
  /** Output display size (even numbers, within the limits). */
  readonly size: Size;
  /** Crop applied before scaling, centred; equal to the input display size when nothing is cropped. */
  readonly crop: Size;
  readonly maxDurationSec: number;
  /** Target video bitrate when the size must shrink; `undefined` lets the encoder choose quality. */
  readonly videoBitrateKbps: number | undefined;
  readonly maxSizeBytes: number;
}
