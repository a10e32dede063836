"""The domain core the services share (not the infrastructure kit around it): the household snapshot intake sends
and eligibility assesses, resident ID numbers and their fingerprints, person names, division codes and region
scoping, the month, money in fen, working days, and the pricing contract of the roll import."""
