"""Question 3, nurture ROI: does nurturing the leads we already have pay?"""
