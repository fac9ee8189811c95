"""Question 2, cohort conversion: how do leads move through the funnel over time?"""
