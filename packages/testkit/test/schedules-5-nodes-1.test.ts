import { describeScheduleShare } from "./schedule-helpers.js";

// A quarter of the ≥ 2,000 generated fault schedules `pnpm test` runs.
describeScheduleShare(5, 1, 625);
