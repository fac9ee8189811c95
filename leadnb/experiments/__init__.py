"""Question 4, A/B testing: did the nurture change we tested work?"""
