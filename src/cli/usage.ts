/**
 * What `--help` prints, for the CLI and each command. Kept apart from the
 * commands so that help, and a mistyped command, load nothing but this.
 */
import { BATCH_STATUSES } from '../ledger/types';

export const USAGE = `usage: partner-ingest <command> [options]

commands:
  validate      check a local file against a partner feed (no AWS needed)
  batches       list a stage's batches, newest first
  batch         show one batch in full
  replay        reprocess a FAILED or REJECTED batch as a new attempt
  redrive       move dead-lettered messages back to their queues
  drop          upload a file into a stage's landing bucket as a partner would
  console       the operator console in your browser (a local web server)
  expectations  per feed with an expect block: the last due time's state and the next due time
  push-handoff  hand off an SFTP push upload whose upload event never came (the sweep reports them)

Run "partner-ingest <command> --help" for a command's options.`;

export const VALIDATE_USAGE = `usage: partner-ingest validate --partner ID [--feed ID] FILE [--json] [--max-errors N] [--decrypt-key KEYFILE [--passphrase-env VAR]] [--control-file CTLFILE]

Checks FILE against a partner feed exactly as the ingest function would, with no AWS.
An encrypted feed's file needs our armored OpenPGP private key (--decrypt-key), and
its passphrase, if it has one, in the environment variable VAR. A feed with a
controlFile checks the totals of CTLFILE when given (the file order of a feed with
sequence needs the ledger: it is not checked here).
Exit code 0 when the batch would be COMPLETED, 1 when REJECTED, 2 for bad usage or config.`;

export const STAGE_OPTIONS_USAGE = `  --stage NAME         the deployed stage (or PARTNER_INGEST_STAGE)
  --region REGION      AWS region (default: AWS_REGION)
  --endpoint-url URL   a local emulator, e.g. the one \`npm start\` prints
  --json               machine-readable output`;

export const BATCHES_USAGE = `usage: partner-ingest batches --stage NAME [--partner ID] [--feed ID] [--status STATUS] [--since 7d] [--until TIME] [--limit 50] [--json]

Lists batches, newest first. STATUS is one of ${BATCH_STATUSES.join(', ')}; times are 30m, 24h, 7d, 2026-11-01 or an ISO date-time.
${STAGE_OPTIONS_USAGE}`;

export const BATCH_USAGE = `usage: partner-ingest batch BATCH_ID --stage NAME [--json]

Shows one batch in full: source, file and checksum, counts, attempts, the first errors, and where its files are.
${STAGE_OPTIONS_USAGE}`;

export const REPLAY_USAGE = `usage: partner-ingest replay BATCH_ID --stage NAME [--force] [--dry-run] [--from-scratch] [--no-wait] [--json]

Reprocesses a FAILED or REJECTED batch from its archived raw file, with the partner config and schemas as they
are now, as a new attempt (same work item ids). A COMPLETED batch needs --force. The attempt is queued for the
stage's ingestFile, which runs it as it runs any file; the command then shows its progress until it ends
(--no-wait: return once it is queued). A FAILED batch carries on from what its last attempt validated, staged
and sent; --from-scratch starts it over from the raw file (after a config or schema change). A batch left
PROCESSING with nothing running it (its lease expired) is taken over. --dry-run shows what a replay would
decide now, changing nothing.
${STAGE_OPTIONS_USAGE}`;

export const REDRIVE_USAGE = `usage: partner-ingest redrive --stage NAME (--batch BATCH_ID | --all) [--queue work|file-events|send-ranges|all] [--dry-run] [--json]

Moves dead-lettered messages back to their source queue: one batch's (--batch), or every one (--all); one of the
two is required. --dry-run counts what would move, per batch, and moves nothing. A message is deleted from the
DLQ only after its source queue accepted it: an interruption never loses one. Other batches' messages stay.
${STAGE_OPTIONS_USAGE}`;

export const DROP_USAGE = `usage: partner-ingest drop --partner ID FILE --stage NAME [--as NAME] [--force] [--config-root DIR]

Uploads FILE into the stage's landing bucket as inbound/<partner>/<name>, as a partner's S3 drop would
(streamed, any size). With --endpoint-url it drops into the local stack that \`npm start\` runs.
A partner or file name that no feed of this checkout's partners/ (or --config-root's) claims is
refused, since the batch would only be REJECTED; --force drops it anyway.
${STAGE_OPTIONS_USAGE}`;

export const CONSOLE_USAGE = `usage: partner-ingest console --stage NAME [--port N]

Starts the operator console on 127.0.0.1 (a free port, or --port) and prints its URL with a login token
(good until it stops):
batches, a batch's errors and attempts, replays and dead-letter redrives in a browser. It calls AWS with your
own credentials, as the other commands do, and records you as the actor. Runs until Ctrl-C.
${STAGE_OPTIONS_USAGE}`;

export const EXPECTATIONS_USAGE = `usage: partner-ingest expectations --stage NAME [--partner ID] [--json]

Per feed with an \`expect\` block in this checkout's partners/: the latest due time (in the partner's zone), its
state — OK, LATE, MISSING, PENDING (not due or within the grace) or SKIPPED (calendar) — the files counted, and the
next due time in your zone (TZ) and the partner's.
${STAGE_OPTIONS_USAGE}`;

export const PUSH_HANDOFF_USAGE = `usage: partner-ingest push-handoff --partner ID --key pushed-uploads/ID/NAME --server-id ID --stage NAME [--json]

Hands off an SFTP push upload as its "upload completed" event would have: copied to pushed/ and ingested.
For an upload the sweep reported (SftpPushUnreported; sftpPushHandoff's log names the key). Without its event
nothing tells a partial upload from a complete one: confirm with the partner first. --server-id is the stack
output SftpPushServerId (the batch's sftp:// URI names its host). Repeating it, or the event arriving after all,
hands off nothing twice.
${STAGE_OPTIONS_USAGE}`;
