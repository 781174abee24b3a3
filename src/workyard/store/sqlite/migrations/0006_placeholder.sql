-- Placeholder so 0008 applies in order on this branch; replaced by the real 0006 when merged.
SELECT 1;
