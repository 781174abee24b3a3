-- Placeholder so 0007 applies in order on this branch; replaced by the real 0006 when merged.
SELECT 1;
