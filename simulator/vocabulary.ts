/** Names Qualys uses for detection types and statuses, with their wire spelling. */

export const DETECTION_TYPES = ['Confirmed', 'Potential', 'Info'] as const;
export type DetectionType = (typeof DETECTION_TYPES)[number];

export const DETECTION_STATUSES = ['New', 'Active', 'Fixed', 'Re-Opened'] as const;
export type DetectionStatus = (typeof DETECTION_STATUSES)[number];

/** Status index → bit, so a filter is one AND. */
export const STATUS_NEW = 0;
export const STATUS_ACTIVE = 1;
export const STATUS_FIXED = 2;
export const STATUS_REOPENED = 3;

export const TYPE_CONFIRMED = 0;
export const TYPE_POTENTIAL = 1;
export const TYPE_INFO = 2;

/** Kernel relation of a detection, as AFFECT_RUNNING_KERNEL reports it. */
export const KERNEL_NONE = -1;
export const KERNEL_NON_RUNNING = 0;
export const KERNEL_RUNNING = 1;
