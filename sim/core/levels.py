"""The four levels of care, in the order used by every array indexed by level."""

VILLAGE, TOWNSHIP, COUNTY, OUT_OF_COUNTY = 0, 1, 2, 3
LEVELS = ("village", "township", "county", "out_of_county")
PRIMARY = (VILLAGE, TOWNSHIP)
IN_COUNTY = (VILLAGE, TOWNSHIP, COUNTY)
N_LEVELS = 4
