/*
 * Every sentence a user reads, keyed by area, English and Simplified Chinese side by side.
 *
 * To add one, put a key in the area's phrases (e.g. `LIMIT_PHRASES` in limits.ts, or a bot's own
 * in its wording.ts) with both languages and the same {placeholders}, then read it with
 * `t(locale, 'area.key', { name: value })` (or the area's reader): the placeholders are checked
 * at compile time, and test/text/catalogue.test.ts checks both languages, their placeholders and
 * the spacing of the Chinese, filled with real values.
 */
import { reader } from './catalogue.ts';
import { CLI_PHRASES } from './cli.ts';
import { CLI_COMMAND_PHRASES } from './cli-commands.ts';
import { FAILURE_PHRASES } from './failures.ts';
import { FORMAT_PHRASES } from './format.ts';
import { LIMIT_PHRASES } from './limits.ts';
import { REQUEST_PHRASES } from './requests.ts';
import { STATUS_PHRASES } from './status.ts';

/** Every platform-neutral phrase, by key; each area keeps its own in its module. */
export const CATALOGUE = {
  ...FORMAT_PHRASES,
  ...STATUS_PHRASES,
  ...LIMIT_PHRASES,
  ...FAILURE_PHRASES,
  ...REQUEST_PHRASES,
  ...CLI_PHRASES,
  ...CLI_COMMAND_PHRASES,
} as const;

/** The areas the catalogue is made of, to check that no key is defined twice. */
export const CATALOGUE_AREAS = {
  format: FORMAT_PHRASES,
  status: STATUS_PHRASES,
  limits: LIMIT_PHRASES,
  failures: FAILURE_PHRASES,
  requests: REQUEST_PHRASES,
  cli: CLI_PHRASES,
  cliCommands: CLI_COMMAND_PHRASES,
} as const;

/** A phrase of the catalogue in one language: `t('zh', 'violation.duration', { duration, max })`. */
export const t = reader(CATALOGUE);

/** A key of the catalogue. */
export type TextKey = keyof typeof CATALOGUE;

export { type Phrase, type Phrases, perLocale, reader } from './catalogue.ts';
export { describePhase, fitHint } from './cli.ts';
export { describeFailure, describeRemoteError, failureText } from './failures.ts';
export {
  containerName,
  displayWidth,
  formatAnd,
  formatBytes,
  formatClauses,
  formatClock,
  formatEta,
  formatList,
  formatMebibytes,
  formatSeconds,
  formatSize,
  localeFrom,
  padDisplay,
  textBar,
} from './format.ts';
export {
  describeFitChange,
  describeViolation,
  downloadTooLargeText,
  fitChangesText,
  limitsText,
  rejectionText,
} from './limits.ts';
export { duplicateText, quotaText, refusalText, stylesText } from './requests.ts';
export {
  isFinalView,
  percentOf,
  queueLineText,
  queuePlaceText,
  type StatusView,
  statusText,
  viewOfStatus,
} from './status.ts';
