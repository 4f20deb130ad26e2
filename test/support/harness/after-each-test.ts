/**
 * Registered for every test file (jest `setupFilesAfterEnv`): after each test, the
 * AWS calls its functions made are checked against their packaged roles. A file
 * that records no calls (unit tests) pays nothing. The first check of a run may
 * package the stack (about 10 s, then cached), hence the long hook timeout.
 */
import { checkRecordedCalls } from './iam-check';

afterEach(checkRecordedCalls, 300_000);
