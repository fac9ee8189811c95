"""Question 1, scoring calibration: does our lead score predict anything?"""
