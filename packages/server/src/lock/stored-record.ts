import { isLimitsRecord } from "./limits-codec.js";
import { decodeMultiHolderRecord, isMultiHolderRecord } from "./multi-holder-codec.js";
import { decodeKeyStateRecord } from "./table-codec.js";

/**
 * The highest fencing token a stored table record holds, whatever its kind: a lock's token, the
 * largest of a semaphore's or rw key's holders', 0 for the limits record.
 */
export function storedRecordTokenMax(bytes: Uint8Array): number {
  if (isLimitsRecord(bytes)) return 0;
  if (!isMultiHolderRecord(bytes)) return decodeKeyStateRecord(bytes).token;
  let max = 0;
  for (const holder of decodeMultiHolderRecord(bytes).holders) max = Math.max(max, holder.token);
  return max;
}
