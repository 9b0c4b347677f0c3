import { describeLockScheduleShare } from "./lock-schedule-helpers.js";

// An eighth of the ≥ 2,000 generated lock schedules `pnpm test` runs (63 per lock profile).
describeLockScheduleShare(3, 2, 63);
