export { localTime } from '../../expectations/local-time';

/** An age in seconds, as an operator reads it; a dash when there is no figure. */
export function age(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The operator's own zone: the browser's. */
export function operatorZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
