// @dlock/server/internal: switches for the repository's own tests and simulator; not for users.
export { withHostPlantedBugs } from "./host/planted-bugs.js";
export type { HostPlantedBugs } from "./host/planted-bugs.js";
